provider "fabric" {
  region = "cn-southwest-2"
}

provider "fabric" {
  region = "cn-north-4"
}
