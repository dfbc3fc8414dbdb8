# Data sources: a look-up that depends on a value known only after apply is read then, so
# this plan makes no call (the endpoints point at a closed loopback port all the same).

provider "fabric" {
  region      = "cn-southwest-2"
  access_key  = "AK-FIXTURE"
  secret_key  = "SK-FIXTURE"
  endpoint    = "http://127.0.0.1:9"
  ep_endpoint = "http://127.0.0.1:9"
}

resource "inferform_data" "names" {
  input = "shared-workspace"
}

data "fabric_workspace" "shared" {
  name = "${inferform_data.names.output}-${inferform_data.names.id}"
}

resource "inferform_data" "uses_data" {
  input = data.fabric_workspace.shared.id
}

output "workspace_id" {
  value = data.fabric_workspace.shared.id
}
