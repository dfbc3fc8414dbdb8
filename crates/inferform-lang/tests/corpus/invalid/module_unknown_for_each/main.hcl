resource "inferform_data" "names" {
  input = ["dev", "prod"]
}

module "app" {
  source   = "./modules/app"
  for_each = toset([inferform_data.names.id])
  name     = each.key
}
