module "app" {
  source   = "./modules/app"
  name     = "chat"
  replcas  = 2
}
