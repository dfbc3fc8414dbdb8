check "health" {
  assert {
    condition     = true
    error_message = "never"
  }
}
