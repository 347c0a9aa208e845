package missing // want `gleak: engine failed, package not checked: engine "gleak-sarif-not-installed" not found in PATH`

func Nothing() {}
