import sys

if __name__ == "__main__":
    from bench.cli import main

    sys.exit(main())
