from armcheck.cli import main

main()
