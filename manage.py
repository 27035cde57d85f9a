#!/usr/bin/env python
from rekam.__main__ import main

if __name__ == "__main__":
    main()
