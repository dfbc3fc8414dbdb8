module "m" {
  source = "./modules/app"
  count  = 2
}

output "id" {
  value = module.m.id
}
