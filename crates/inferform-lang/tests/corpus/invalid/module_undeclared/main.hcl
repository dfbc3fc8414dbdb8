module "app" {
  source = "./modules/app"
}

output "id" {
  value = module.nope.id
}
