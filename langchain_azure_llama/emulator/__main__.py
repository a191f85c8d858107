"""Deprecated: ``python -m azure_llama_emulator`` (or ``azure-llama-emulator``) starts it now."""

import sys

from azure_llama_emulator.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
