"""End-to-end tests of `floatip lab` through its real command line (root, namespaces)."""
