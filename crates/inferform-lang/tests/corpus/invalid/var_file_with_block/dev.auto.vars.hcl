env = "prod"

settings {
  region = "cn-north-4"
}
