module "app" {
  source = "./modules/ap"
}
