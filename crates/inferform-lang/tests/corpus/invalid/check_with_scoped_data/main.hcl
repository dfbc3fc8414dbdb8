check "health" {
  data "fabric_workspace" "main" {
    name = "x"
  }

  assert {
    condition     = true
    error_message = "never"
  }
}
