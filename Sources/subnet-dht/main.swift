print("subnet-dht")
