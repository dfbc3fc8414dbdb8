module "app" {
  source    = "./modules/app"
  name      = "chat"
  max_units = "four"
}
