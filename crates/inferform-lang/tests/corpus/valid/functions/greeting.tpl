Hello, ${name}!%{ for z in zones } [${z}]%{ endfor }
