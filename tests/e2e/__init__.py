"""End-to-end tests of the safety properties, judged by the client, the kernel and the API."""
