# The workspace's name, in the root module and in a child, in both spellings; and a local
# backend block, which keeps state in the working directory as having none does.

inferform {
  backend "local" {}
}

resource "inferform_data" "named" {
  input = "llm-${inferform.workspace}"
}

module "app" {
  source = "./modules/app"
}

output "app_name" {
  value = module.app.name
}
