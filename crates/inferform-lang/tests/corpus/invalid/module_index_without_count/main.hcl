module "m" {
  source = "./modules/app"
}

output "id" {
  value = module.m[0].id
}
