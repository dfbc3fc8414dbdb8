module "app" {
  source = "./modules/app"
  name   = "chat"
}
