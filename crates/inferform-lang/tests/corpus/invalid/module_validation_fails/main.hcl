module "app" {
  source = "./modules/app"
  name   = "a-name-far-too-long-for-the-stack"
}
