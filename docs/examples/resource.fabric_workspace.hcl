provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name        = "llm-prod"
  description = "inference for production"
}
