from gleak_sarif.launch import main

main()
