module "app" {
  source   = "./modules/app"
  count    = 2
  for_each = toset(["dev", "prod"])
}
