resource "alaya_expert_deployment" "vllm" {
  name        = "test-expert"
  namespace   = "default"
  vks_id      = "vcacb50arkk4"
  served_name = ["testvllm"]
  model_id    = "c486cdee"
  extensions  = "usage=test"
}
