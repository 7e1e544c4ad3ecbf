"""One renewal run: observe -> plan -> act (issue, deploy, verify) -> result; and `status`."""
