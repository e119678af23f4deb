from acecoder.cli import main

main()
