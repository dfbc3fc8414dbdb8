resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  description  = "chat endpoint"

  a                   = 1
  long_attribute_name = 2

  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }
  }
  after_block = true
  x           = 1
}

locals {
  short = 1
  # a comment line breaks nothing
  much_longer_name = 2
  nested = {
    k          = 1
    longer_key = 2
  }
  tail = 3
}
