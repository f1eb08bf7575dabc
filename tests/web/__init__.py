"""Browser tests of the web app (a package, so that ``from .conftest import ...`` names this folder's conftest)."""
