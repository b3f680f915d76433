import pytest
from labkit import Lab


@pytest.fixture
def lab(tmp_path):
    """The lab's LRM instrument PC alone."""
    return Lab(tmp_path, only=("lrm-miseq-01",))


@pytest.fixture
def radiology(tmp_path):
    """The lab's iQ-WEBX servers and the DirectView console."""
    return Lab(tmp_path, only=("iqwebx-01", "iqwebx-02", "cs-directview-01"))
