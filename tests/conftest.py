pytest_plugins = ["tests.chroma_server"]
