mod dist;
