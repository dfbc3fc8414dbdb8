provider "fabrik" {
  region = "cn-southwest-2"
}
