"""Unit tests use fake LMs only: a test that forgets to configure one fails loudly instead of
loading the embedded model. Integration tests build their real LM explicitly."""

import os

os.environ.setdefault("PLIABLE_DEFAULT_LM", "off")
