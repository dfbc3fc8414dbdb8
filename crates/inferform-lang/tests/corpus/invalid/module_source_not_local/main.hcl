module "consul" {
  source = "hashicorp/consul/aws"
}
