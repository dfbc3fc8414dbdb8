provider "fabric" {
  alias  = "west"
  region = "cn-southwest-2"
}

module "app" {
  source    = "./modules/app"
  providers = { fabrc = fabric.west }
}
