package missing // want `gleak: engine failed, package not checked: gleak: engine "gleak-sarif-not-installed" not found in PATH`

func Nothing() {}
