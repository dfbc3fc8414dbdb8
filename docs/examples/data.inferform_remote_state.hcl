# Outputs of another configuration whose local state is in ../platform.
data "inferform_remote_state" "platform" {
  backend   = "local"
  config    = { path = "../platform" }
  workspace = "default"
  defaults  = { region = "cn-southwest-2" }
}

output "platform_region" {
  value = data.inferform_remote_state.platform.outputs.region
}
