import pytest
from labkit import Lab


@pytest.fixture
def lab(tmp_path):
    return Lab(tmp_path)
