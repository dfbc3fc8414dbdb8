module "m" {
  source = "./modules/app"
}

output "result" {
  value = module.m.nope
}
