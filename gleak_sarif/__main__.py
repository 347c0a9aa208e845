from gleak_sarif.console_script import main

main()
