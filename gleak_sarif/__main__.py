from gleak_sarif.cli import main

main()
