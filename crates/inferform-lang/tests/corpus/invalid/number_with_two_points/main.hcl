locals {
  replicas = 1.2.3
}
