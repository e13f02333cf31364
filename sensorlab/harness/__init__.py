"""The harness: runs on the CI VM to build, deploy and prove."""
