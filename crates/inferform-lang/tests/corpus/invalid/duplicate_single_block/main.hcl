resource "fabric_service_instance" "chat" {
  workspace_id = "ws-1"
  name         = "chat"
  endpoint_id  = "ep-1"
  source {
    id = "m-1"
  }
  source {
    id = "m-2"
  }
}
