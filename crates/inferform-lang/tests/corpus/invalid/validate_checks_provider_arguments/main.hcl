provider "fabric" {
  regoin = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "llm"
}
