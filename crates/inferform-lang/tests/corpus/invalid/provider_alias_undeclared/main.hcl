provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  provider = fabric.west
  name     = "llm"
}
