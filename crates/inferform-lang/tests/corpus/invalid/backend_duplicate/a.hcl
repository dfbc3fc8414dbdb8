inferform {
  backend "local" {}
}
