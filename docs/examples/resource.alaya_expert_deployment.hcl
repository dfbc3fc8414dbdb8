provider "alaya" {} # credentials from ALAYA_ACCESS_KEY / ALAYA_SECRET_KEY

# One head and two workers of one L40S each, scaled between 0 and 3 replicas.
resource "alaya_expert_deployment" "vllm" {
  name        = "chat"
  namespace   = "default"
  vks_id      = "vcacb50arkk4"
  served_name = ["chat"]
  model_id    = "c486cdee-c316-4fc1-9f75-0d1741940f27"

  scale {
    min       = 0
    max       = 3
    rps_value = 10
    idle_time = 60
  }

  head_config {
    image = "registry.example.com/vllm:0.8.1"
    cmd   = ["sh", "-c", "serve.sh"]
    resource {
      mem = 32
      cpu = 4
      gpu {
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }
    }
  }

  worker_config {
    workers = 2
    image   = "registry.example.com/vllm:0.8.1"
    resource {
      mem = 32
      cpu = 4
      gpu {
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }
    }
  }
}
