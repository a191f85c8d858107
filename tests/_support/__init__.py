"""Helpers shared by the tests, one module per suite (`tests/<suite>/` imports `_support.<suite>`).

Fixtures stay in each suite's `conftest.py`; everything a test imports lives here, because a
`conftest.py` is loaded by pytest, not meant to be imported as a module.
"""
