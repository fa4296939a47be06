"""pytest setup for the Python tests run by the Rust test suite: the markers
the Airbyte CDK's standard test suites use (see cdk_standard_test.py)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "image_tests: the standard tests that run a connector's container image"
    )
    config.addinivalue_line("markers", "requires_creds: scenarios whose config holds credentials")
